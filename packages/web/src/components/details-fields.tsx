export interface DetailsFieldsProps {
  /** Prefix of the fields' ids, e.g. `run-edit` gives `run-edit-description`. */
  idPrefix: string;
  description: string;
  onDescription(value: string): void;
  tags: string;
  onTags(value: string): void;
  metadata: string;
  onMetadata(value: string): void;
  /** The form's error; a metadata one marks the metadata box invalid. */
  problem: string | null;
  rows: { description: number; metadata: number };
}

/** The description, tags and metadata (JSON) fields that runs and folders are edited with, in a `form-grid`. */
export function DetailsFields(props: DetailsFieldsProps) {
  const { idPrefix: id } = props;
  return (
    <>
      <label htmlFor={`${id}-description`}>Description</label>
      <textarea
        id={`${id}-description`}
        rows={props.rows.description}
        value={props.description}
        onChange={(e) => props.onDescription(e.target.value)}
      />
      <label htmlFor={`${id}-tags`}>Tags</label>
      <input
        id={`${id}-tags`}
        value={props.tags}
        onChange={(e) => props.onTags(e.target.value)}
        aria-describedby={`${id}-tags-help`}
      />
      <span />
      <span id={`${id}-tags-help`} className="muted">
        Separated by commas.
      </span>
      <label htmlFor={`${id}-metadata`}>Metadata (JSON)</label>
      <textarea
        id={`${id}-metadata`}
        rows={props.rows.metadata}
        value={props.metadata}
        onChange={(e) => props.onMetadata(e.target.value)}
        spellCheck={false}
        aria-invalid={props.problem?.startsWith('Metadata') ? true : undefined}
      />
    </>
  );
}
