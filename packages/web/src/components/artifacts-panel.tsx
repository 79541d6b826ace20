import { ARTIFACT_CATEGORIES, type ArtifactView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import { formatTime } from '../format.js';
import { useSession } from '../session.js';

/** Previews read at most this many bytes of an artifact (a range request). */
const PREVIEW_BYTES = 1024 * 1024;
const CSV_ROWS = 50;

type PreviewKind = 'image' | 'json' | 'csv' | 'text' | null;

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml'];
const TEXT_EXTENSIONS =
  /\.(txt|log|md|py|js|ts|c|h|cc|cpp|hpp|f|f90|sh|toml|yaml|yml|ini|cfg|conf|xml|in|out|dat|rst|m|jl|r)$/i;

/** What preview an artifact gets, from its type and then its name. */
function previewKind(a: ArtifactView): PreviewKind {
  const type = (a.mimeType.split(';')[0] ?? '').trim().toLowerCase();
  const name = a.name.toLowerCase();
  if (IMAGE_TYPES.includes(type) || /\.(png|jpe?g|gif|webp)$/.test(name)) return 'image';
  if (type === 'application/json' || type.endsWith('+json') || name.endsWith('.json')) return 'json';
  if (type === 'text/csv' || name.endsWith('.csv')) return 'csv';
  if (type.startsWith('text/') || TEXT_EXTENSIONS.test(name)) return 'text';
  // Names without an extension (controlDict, Makefile) saved as octet-stream are often text too.
  if (type === 'application/octet-stream' && !/\.[a-z0-9]+$/.test(name)) return 'text';
  return null;
}

/** Bytes as `512 B`, `1.5 KiB`, `3.2 MiB`. */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** CSV text as rows of cells (RFC 4180 quoting), at most `maxRows` rows. */
function parseCsv(text: string, maxRows: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      if (rows.length >= maxRows) return rows;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** A run's artifacts by category, each with its size and type, a download, and a preview. */
export function ArtifactsPanel({ run }: { run: string }) {
  const { api } = useSession();
  const [items, setItems] = useState<ArtifactView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      const all: ArtifactView[] = [];
      const query = { limit: 1000 };
      for await (const items of api.pages('listArtifacts', {
        params: { run },
        query,
        signal: abort.signal,
      })) {
        all.push(...items);
        if (all.length >= 10_000) break;
      }
      setItems(all);
    })().catch((e: Error) => !abort.signal.aborted && setError(e.message));
    return () => abort.abort();
  }, [api, run]);

  const download = async (a: ArtifactView) => {
    try {
      const blob = await api.artifactContent(run, a);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = baseName(a.name);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (error) return <p className="error">{error}</p>;
  if (items === null) return <p className="muted">Loading artifacts…</p>;
  if (items.length === 0) return <p className="muted">This run has no artifacts.</p>;
  return (
    <div className="artifacts">
      {ARTIFACT_CATEGORIES.map((category) => {
        const list = items.filter((a) => a.category === category);
        if (list.length === 0) return null;
        const headingId = `artifacts-${category}`;
        return (
          <section key={category} aria-labelledby={headingId}>
            <h2 id={headingId}>
              {category === 'code' ? 'Code' : category === 'input' ? 'Inputs' : 'Outputs'} ({list.length})
            </h2>
            <table className="artifacts-table" aria-labelledby={headingId}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Size</th>
                  <th scope="col">Type</th>
                  <th scope="col">Saved</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => {
                  const kind = previewKind(a);
                  const key = `${a.category}:${a.name}`;
                  const shown = open === key;
                  return (
                    <ArtifactRow
                      key={key}
                      artifact={a}
                      kind={kind}
                      shown={shown}
                      run={run}
                      onToggle={() => setOpen(shown ? null : key)}
                      onDownload={() => void download(a)}
                    />
                  );
                })}
              </tbody>
            </table>
          </section>
        );
      })}
    </div>
  );
}

function ArtifactRow({
  artifact: a,
  kind,
  shown,
  run,
  onToggle,
  onDownload,
}: {
  artifact: ArtifactView;
  kind: PreviewKind;
  shown: boolean;
  run: string;
  onToggle(): void;
  onDownload(): void;
}) {
  const previewId = `preview-${a.category}-${a.sha256.slice(0, 12)}-${baseName(a.name).replace(/[^\w-]/g, '_')}`;
  return (
    <>
      <tr data-artifact={a.name}>
        <td>
          <code>{a.name}</code>
        </td>
        <td className="num">{formatBytes(a.size)}</td>
        <td>{a.mimeType}</td>
        <td>{formatTime(a.created)}</td>
        <td className="actions">
          {kind ? (
            <button type="button" aria-expanded={shown} aria-controls={previewId} onClick={onToggle}>
              {shown ? 'Hide preview' : 'Preview'}
              <span className="visually-hidden"> of {a.name}</span>
            </button>
          ) : null}{' '}
          <button type="button" onClick={onDownload}>
            Download<span className="visually-hidden"> {a.name}</span>
          </button>
        </td>
      </tr>
      {shown && kind ? (
        <tr className="preview-row">
          <td colSpan={5} id={previewId}>
            <Preview run={run} artifact={a} kind={kind} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

type Loaded =
  | { kind: 'image'; url: string }
  | { kind: 'text'; text: string }
  | { kind: 'csv'; rows: string[][] }
  | { kind: 'error'; message: string };

function Preview({ run, artifact, kind }: { run: string; artifact: ArtifactView; kind: PreviewKind }) {
  const { api } = useSession();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const truncated = artifact.size > PREVIEW_BYTES;

  useEffect(() => {
    const abort = new AbortController();
    let url: string | null = null;
    if (kind === 'image' && truncated) {
      setLoaded({
        kind: 'error',
        message: `This image is over ${formatBytes(PREVIEW_BYTES)}; download it to view it.`,
      });
      return;
    }
    api.artifactContent(run, artifact, PREVIEW_BYTES, abort.signal).then(
      async (blob) => {
        if (kind === 'image') {
          url = URL.createObjectURL(blob);
          setLoaded({ kind: 'image', url });
          return;
        }
        const text = new TextDecoder('utf-8').decode(await blob.arrayBuffer());
        if (kind === 'json' && !truncated) {
          try {
            setLoaded({ kind: 'text', text: JSON.stringify(JSON.parse(text), null, 2) });
            return;
          } catch {
            // Not valid JSON: shown as it is.
          }
        }
        if (kind === 'csv') {
          setLoaded({ kind: 'csv', rows: parseCsv(text, CSV_ROWS + 1) });
          return;
        }
        setLoaded({ kind: 'text', text });
      },
      (e: Error) => !abort.signal.aborted && setLoaded({ kind: 'error', message: e.message }),
    );
    return () => {
      abort.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [api, run, artifact, kind, truncated]);

  if (!loaded) return <p className="muted">Loading preview…</p>;
  const note = truncated ? (
    <p className="muted">Showing the first {formatBytes(PREVIEW_BYTES)} only.</p>
  ) : null;
  if (loaded.kind === 'error') return <p className="error">{loaded.message}</p>;
  if (loaded.kind === 'image') {
    return (
      <div className="artifact-preview">
        <img src={loaded.url} alt={`Preview of ${artifact.name}`} />
      </div>
    );
  }
  if (loaded.kind === 'csv') {
    const [head, ...body] = loaded.rows;
    const shown = body.slice(0, CSV_ROWS);
    return (
      <div className="artifact-preview table-scroll">
        <table className="csv-preview" aria-label={`Preview of ${artifact.name}`}>
          {head ? (
            <thead>
              <tr>
                {head.map((c, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: columns have no other identity
                  <th key={i} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
          ) : null}
          <tbody>
            {shown.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows have no other identity
              <tr key={i}>
                {r.map((c, j) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: cells have no other identity
                  <td key={j}>{c}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {body.length > CSV_ROWS || truncated ? (
          <p className="muted">First {CSV_ROWS} rows; download the file for all of it.</p>
        ) : null}
      </div>
    );
  }
  return (
    <section className="artifact-preview" aria-label={`Preview of ${artifact.name}`}>
      <pre>{loaded.text}</pre>
      {note}
    </section>
  );
}
