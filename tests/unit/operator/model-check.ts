// The shared check of rendered objects (kubernetes-models plus unknown fields) lives in
// tests/support so the charts' and platform tests use the same one.
export {
  CHECKED_KINDS,
  modelError,
  modelKey,
  unknownFields,
  type KubeLike,
} from '../../support/model-check.js';
