import type { AlertListItem, AlertTransitionView, AlertView, RunAlertView } from '../alerts.js';
import type {
  ArrayCellView,
  ArrayDataView,
  ArrayExportView,
  ArraySeriesView,
  ArrayStepView,
} from '../arrays.js';
import type { ArtifactView } from '../artifacts.js';
import type { RunStatus } from '../schemas.js';
import type {
  TelemetryKeyView,
  TelemetryRecordView,
  TelemetryServiceView,
  TelemetryUsageView,
} from '../telemetry.js';
import type { EventView, FolderView, RunTablePage, RunView, SeriesView } from '../views.js';
import type { RouteName } from './routes.js';
import type { AccessRouteResponses } from './routes-access.js';
import type { AuthRouteResponses } from './routes-auth.js';
import type { HpcRouteResponses } from './routes-hpc.js';
import type {
  AggregateView,
  DashboardView,
  DownsampleRunsView,
  DownsampleView,
  Me,
  Page,
  ProcessView,
  ReadyView,
  RetentionRuleView,
  SeriesPageView,
  TokenView,
  UserView,
  VersionView,
  WorkspaceView,
} from './views.js';

type Abort = RunView['abort'];

/** What each route answers with (in JSON); `undefined` for 204 answers and streams. */
export interface RouteResponses extends AuthRouteResponses, AccessRouteResponses, HpcRouteResponses {
  version: VersionView;
  health: { ok: true };
  ready: ReadyView;
  openApi: Record<string, unknown>;
  docs: string;
  me: Me;
  adminProcess: ProcessView;
  createUser: UserView;
  listUsers: { items: UserView[] };
  deleteUser: undefined;
  createWorkspace: WorkspaceView;
  listWorkspaces: { items: WorkspaceView[] };
  deleteWorkspace: undefined;
  addMember: { items: UserView[] };
  listMembers: { items: UserView[] };
  listRetentionRules: { items: RetentionRuleView[] };
  createRetentionRule: RetentionRuleView;
  deleteRetentionRule: undefined;
  applyRetention: { deleted: number; downsampled: number };
  removeMember: undefined;
  createToken: TokenView & { token: string };
  listTokens: { items: TokenView[] };
  revokeToken: undefined;
  createRun: RunView;
  listRuns: Page<RunView>;
  searchRuns: Page<RunView>;
  getRun: RunView;
  updateRun: RunView;
  deleteRun: undefined;
  heartbeat: { status: RunStatus; abort: Abort };
  requestAbort: Abort;
  readAbort: Abort;
  ingestMetrics: { stored: boolean; points: number };
  sinkMetrics: { stored: false; points: number };
  listMetricNames: Page<SeriesView>;
  readSeries: SeriesPageView;
  downsample: DownsampleView;
  downsampleRuns: DownsampleRunsView;
  aggregateMetric: AggregateView;
  createDashboard: DashboardView;
  listDashboards: { items: DashboardView[]; next: null };
  getDashboard: DashboardView;
  updateDashboard: DashboardView;
  deleteDashboard: { deleted: true };
  ingestEvents: { stored: boolean; events: number };
  listEvents: Page<EventView>;
  createFolder: FolderView;
  listFolders: Page<FolderView>;
  getFolder: FolderView;
  updateFolder: FolderView;
  deleteFolder: { runsDeleted: number };
  live: undefined;
  runTable: RunTablePage;
  searchRunTable: RunTablePage;
  createAlert: AlertView;
  listAlerts: Page<AlertListItem>;
  getAlert: AlertView;
  updateAlert: AlertView;
  listAlertRuns: Page<RunAlertView>;
  deleteAlert: undefined;
  attachAlert: RunAlertView;
  listRunAlerts: Page<RunAlertView>;
  getRunAlert: RunAlertView;
  detachAlert: undefined;
  alertHistory: Page<AlertTransitionView>;
  setAlertState: RunAlertView;
  createTelemetryKey: TelemetryKeyView & { key: string };
  listTelemetryKeys: { items: TelemetryKeyView[] };
  revokeTelemetryKey: undefined;
  ingestTelemetry: { stored: boolean; records: number };
  telemetryServices: { items: TelemetryServiceView[] };
  telemetryRecords: Page<TelemetryRecordView>;
  telemetryUsage: TelemetryUsageView;
  saveArtifact: ArtifactView;
  listArtifacts: Page<ArtifactView>;
  readArtifact: undefined;
  deleteArtifact: undefined;
  artifactUsage: { bytes: number; quota: number | null };
  saveArray: ArrayStepView;
  listArrays: Page<ArraySeriesView> | Page<ArrayStepView>;
  readArray: ArrayDataView | undefined;
  readArrayCell: ArrayCellView;
  exportArrays: ArrayExportView;
  getArrayExport: ArrayExportView;
  readArrayExport: undefined;
}

/** The answer of a route by name. */
export type RouteResponse<R extends RouteName> = RouteResponses[R];
