import type { JsonObject } from '@simscope/protocol';

export interface FolderRecord {
  pk: number;
  id: string;
  workspaceId: string;
  path: string;
  parentPk: number | null;
  description: string | null;
  tags: string[];
  metadata: JsonObject;
  createdAt: number;
}

export interface FolderQuery {
  parent: string | null;
  prefix: string | null;
  after: string | null;
  limit: number;
}

/** Columns of a folder that an update may set; absent fields keep their value. */
export interface FolderChanges {
  description?: string | null;
  tags?: string[];
  metadata?: JsonObject;
}

/** Folders of a workspace, a tree of paths; part of `Store`. */
export interface FolderStore {
  /** The folder at `path`, created with its missing parents. */
  ensureFolder(workspaceId: string, path: string, at: number): Promise<FolderRecord>;
  getFolder(workspaceId: string, idOrPath: string): Promise<FolderRecord | undefined>;
  /** Folders in path order. */
  listFolders(workspaceId: string, query: FolderQuery): Promise<FolderRecord[]>;
  updateFolder(workspaceId: string, pk: number, changes: FolderChanges): Promise<void>;
  /** Deletes the folder; with `recursive`, its subfolders and all their runs too. Returns runs deleted. */
  deleteFolder(workspaceId: string, folder: FolderRecord, recursive: boolean): Promise<number>;
  /** True when the folder has neither subfolders nor runs. */
  folderIsEmpty(workspaceId: string, folder: FolderRecord): Promise<boolean>;
}
