/** Why a job runs where it runs; recorded on the job as `executorReason` and counted by Prometheus. */
export const ExecutorReason = {
  Requested: 'requested',
  ModeLocal: 'mode_local',
  ModeRunPod: 'mode_runpod',
  LocalHasRoom: 'hybrid_local_has_room',
  NoLiveNode: 'hybrid_no_live_node',
  NodesSaturated: 'hybrid_nodes_saturated',
  QueueOverThreshold: 'hybrid_queue_over_threshold',
  FailoverFromRunPod: 'failover_runpod_refused',
  FailoverFromLocal: 'failover_local_refused',
  /** A part of a split batch beyond the free local slots. */
  SplitBurst: 'hybrid_split_burst',
  Split: 'split',
  /** A transcription whose whisper model no live node can load. */
  ModelNotOnLocalNodes: 'model_not_on_local_nodes',
} as const;
