// Package i18n translates operator-facing text: the log records of the worker and its runtime, and
// the messages of the CLI. Languages are English (en, the language of the code) and Simplified
// Chinese (zh), as in rabbitmq-arq, whose logs are Chinese.
//
// The code keeps writing English: log messages are English string constants, CLI messages English
// format strings. Translation happens at the edge:
//
//   - logs: wrap the slog handler with NewHandler. Each record's message is looked up in the
//     catalog; for the text format (translateKeys true) attribute keys are translated too, while
//     the JSON format keeps its English keys, which log pipelines query. Attribute values (ids,
//     errors, durations) are never translated.
//   - CLI output: i18n.T(lang, "message") or i18n.Tf(lang, "format %s", args...).
//
// A message without a translation comes out in English; nothing fails at run time.
//
// # Adding a message
//
// Write the English message in the code as a string constant, the first argument of the slog call
// (log.Info("job completed", "duration", d)) or the message argument of T/Tf, then add the exact
// text and its Chinese translation to messages in catalog.go; a new attribute key goes in keys.
// go test ./internal/i18n/ parses the logging packages (host, host/wasm, host/registry,
// internal/broker, internal/store, client) and cmd, and fails naming the file and line of every
// message or key that has no translation. The scanner follows messages built in helpers from
// their parameters (host/job.go's requeue and persist, the CLI's t and table) to the constant
// arguments of their calls.
//
// Keep messages constant: a message built at run time (fmt.Sprintf, err.Error()) cannot be
// translated; put the variable parts in attributes. Format strings for Tf keep their verbs; a
// translation that needs another order uses explicit indexes ("已从 %[2]s 清除 %[1]d 个任务").
package i18n
