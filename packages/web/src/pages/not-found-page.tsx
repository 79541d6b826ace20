import { Link } from '../components/link.js';

/** An address the UI has no page for. */
export function NotFoundPage({ path }: { path: string }) {
  return (
    <section aria-labelledby="not-found-heading" data-testid="not-found">
      <h1 id="not-found-heading">Page not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
      <p>
        <Link to="/">All runs</Link>
      </p>
    </section>
  );
}
