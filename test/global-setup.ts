import type { TestProject } from 'vitest/node';
import { startPostgres } from '../scripts/postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/** Starts a throwaway PostgreSQL cluster on loopback for the whole test run, and stops it after. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startPostgres();
  project.provide('postgresUrl', postgres.url);
  return () => postgres.stop();
}
