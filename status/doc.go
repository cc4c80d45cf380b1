// Package status is what an operator sees of a running worker: freshness
// metrics, the /status JSON and its HTML page, pause and resume of a
// table, and progress lines while a backlog loads.
//
// The worker feeds it through two small interfaces and a few calls, none
// of them per record:
//
//   - Source: func (w *Worker) Status() status.Member, a copy of the
//     worker's view (group, member id, generation, assignment, and per
//     table its name, state, reason and partitions), each table completed
//     with Tracker.Fill. The handler adds the group's members and the
//     committed and end offsets from Kafka.
//   - Pauser: PauseTable and ResumeTable (see its contract).
//   - a Tracker (NewTracker with the worker's Registerer), fed from the
//     load goroutines: Loaded after each successful Stream Load, with the
//     batch's SourceTimes (SourceTimes.Add(ev.SourceTS) per row as the
//     batch fills), Retried per retry, LoadFailed, DeadLettered, Failed,
//     and Forget when a table's last partition is revoked. A Freshness
//     method returning Tracker.Freshness gives /status lag in seconds.
//   - a Progress, Poll(rowsLoadedTotal, lagTotal) once per poll.
package status
