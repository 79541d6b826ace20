// A small library instrumented as a library author would: functions wrapped with track(), methods with @tracked.
// Built per test around the given telemetry instance (a real library binds Telemetry.default() at import).
import { type Telemetry, track, tracked } from '../src/index.js';

export const REGISTRY = `
catalog:
  search:
    - search
    - Catalog.search
  open:
    - Catalog.open
`;

export interface SearchOptions {
  variable?: string;
  limit?: number;
}

export function createCatalogLibrary(telemetry: Telemetry) {
  const search = track(
    'catalog_search',
    function search(query: string, options: SearchOptions = {}): string[] {
      return [`${query}:${options.variable ?? '*'}`];
    },
    { telemetry },
  );

  class Catalog {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }

    @tracked('catalog_search', { telemetry })
    search(query: string, options: SearchOptions = {}): string {
      return `${this.name}/${query}/${options.limit ?? 0}`;
    }

    @tracked('catalog/open', { telemetry, extraFields: { reader: 'netcdf' } })
    async open(path: string): Promise<number> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return path.length;
    }

    @tracked('catalog_search', { telemetry })
    static version(): string {
      return '1.0';
    }

    @tracked('catalog_search', { telemetry })
    fail(message: string): never {
      throw new Error(message);
    }
  }

  return { search, Catalog };
}
