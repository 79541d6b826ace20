import type { ReactNode } from 'react';

/** A labelled table of items, one row each; an empty column name makes a heading-less column (for buttons). */
export function ListTable<T extends { id: string }>({
  label,
  columns,
  items,
  row,
}: {
  label: string;
  columns: readonly string[];
  items: readonly T[];
  row(item: T): ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed, and names may repeat ('')
              <th key={i}>{c || null}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.id}>{row(item)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
