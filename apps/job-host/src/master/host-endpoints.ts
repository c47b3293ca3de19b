// Where a running job host listens: the endpoints file now lives in @tormr/protocol/host-endpoints, beside the admin client that reads it.
export {
  ENDPOINTS_FILE,
  type HostEndpoints,
  HostNotRunning,
  readEndpoints,
  removeEndpoints,
  writeEndpoints,
} from "@tormr/protocol/host-endpoints";
