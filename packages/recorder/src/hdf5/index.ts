export {
  HDF5_KIND_ATTRIBUTE,
  HDF5_OPEN_MODES,
  HDF5_SINGLE_ATTRIBUTE,
  HDF5DataStore,
  type HDF5DataStoreOptions,
  type HDF5OpenMode,
} from './hdf5-datastore.js';
export { HDF5ListView, type ListBlock } from './hdf5-list-view.js';
