import { CliError } from './errors.js';

/** What `@simscope/server` exports. */
export type ServerPackage = typeof import('@simscope/server');

/** Whether `error` says that `@simscope/server` itself (not one of its own imports) cannot be found. */
function isServerMissing(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes("'@simscope/server'")
  );
}

/**
 * The server package, loaded only by the commands that need it: it is an optional peer dependency of the CLI,
 * so that installing the CLI does not install the server's database drivers.
 */
export async function loadServerPackage(command: string): Promise<ServerPackage> {
  try {
    return await import('@simscope/server');
  } catch (error) {
    if (!isServerMissing(error)) throw error;
    throw new CliError(
      'missing_dependency',
      `${command} needs the @simscope/server package: npm install @simscope/server`,
      1,
      { cause: error },
    );
  }
}
