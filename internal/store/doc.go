// Package store is arqhost's job result store in Redis.
//
// # Layout (compatible with rabbitmq-arq)
//
// The keys are those of the Python library rabbitmq-arq, so its result readers find arqhost's
// results:
//
//	{prefix}:result:{job_id}   the JSON record (see Record), with a TTL
//	{prefix}:status:{job_id}   the bare status string, with the same TTL
//
// The prefix defaults to "rabbitmq_arq" and the TTL to 86400 s. arqhost adds:
//
//	{prefix}:abort:{job_id}    abort flag, set by Abort (TTL of the store)
//	{prefix}:events:done       Pub/Sub channel: ids of jobs that reached a terminal status
//	{prefix}:events:abort      Pub/Sub channel: ids of jobs to abort
//
// Statuses are queued, in_progress, completed, failed, retrying and aborted; completed, failed
// and aborted are terminal.
//
// # What arqhost does differently from the library
//
// Status only moves forward (defect 4 of the reference notes): Write applies a record only if its
// (job_try, rank(status)) is greater than the stored one's, with queued < in_progress < retrying <
// terminal, and never replaces a terminal record, so a late "queued" cannot overwrite "completed".
// The retrying status (with next_try_at) lets a worker record a pending retry as such rather than
// as failed (defect 7).
// Caller-chosen job ids are deduplicated by Reserve, abort is a real flag plus an announcement
// (defect 6), and Stats neither lists keys nor reveals the password (defect 10).
//
// Waiting for a job does not poll: Wait shares one Pub/Sub subscription among all waiters.
//
// # Deployments
//
// Open takes a URL for a single server (redis://, rediss://), a Sentinel-managed master
// (redis-sentinel://) or a Redis Cluster (redis-cluster://); see ParseURL. Everything the store does
// works on a Cluster: each Lua script touches one key, multi-key reads and deletes are pipelines
// of single-key commands, and the result and status keys of a job (which live in different hash
// slots) are written by two scripts in turn.
package store
