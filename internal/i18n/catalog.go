package i18n

// messages maps the exact English text of a log message or CLI message to its Chinese translation.
// Format strings (for Tf and fmt.Errorf) keep their verbs; a translation that needs another word
// order uses explicit argument indexes (%[2]s).
//
// TestCatalogCoversSource fails for any message in the source that is missing here.
var messages = map[string]string{
	// host/worker.go
	"worker started":  "Worker 已启动",
	"worker stopping": "Worker 正在停止",
	"worker stopped":  "Worker 已停止",
	"redis client":    "Redis 客户端",
	"shutdown grace over: interrupting running jobs and returning them to the queue": "关闭宽限期已到：中断正在运行的任务并将其退回队列",
	"aborting running job":                            "正在中止运行中的任务",
	"reconnected to RabbitMQ: declaring queues again": "已重新连接 RabbitMQ：重新声明队列",
	"cannot declare queues after reconnecting":        "重新连接后无法声明队列",

	// host/consumer.go
	"consuming again":                                "已恢复消费",
	"cannot consume yet; will try again":             "暂时无法开始消费，稍后重试",
	"the broker stopped delivering; consuming again": "RabbitMQ 停止了投递，重新开始消费",

	// host/burst.go
	"burst timeout reached; stopping":      "Burst 模式超时，正在停止",
	"burst mode cannot inspect the queues": "Burst 模式无法检查队列",
	"burst mode: no work left; stopping":   "Burst 模式：没有剩余任务，正在停止",

	// host/job.go
	"job expired before it could run; not running it":                                                                                                            "任务在运行前已过期，不再执行",
	"job arrived before its defer_until; delaying it again":                                                                                                      "任务早于其 defer_until 到达，重新延迟",
	"job interrupted by shutdown; returning it to the queue":                                                                                                     "任务因关闭而中断，已退回队列",
	"job already finished; acknowledging the duplicate delivery without running it":                                                                              "任务已结束：确认重复投递的消息，不再执行",
	"a later try of this job exists; acknowledging the stale delivery without running it":                                                                        "该任务已有更新的尝试：确认过时的投递，不再执行",
	"job's retry is already scheduled; acknowledging the duplicate delivery without running it":                                                                  "任务的重试已安排：确认重复投递的消息，不再执行",
	"this worker is already handling a delivery of this job; acknowledging the duplicate":                                                                        "本 worker 正在处理该任务的另一次投递：确认这条重复的消息",
	"legacy classic delay levels still hold delayed jobs; they move into the queue as they fall due, and a later start or reconnection deletes the empty levels": "旧版的经典延迟层级队列中仍有延迟任务：它们到期后会进入队列，之后的启动或重连会删除已清空的层级",
	"cannot delete the legacy classic delay levels":                                                                                                              "无法删除旧版的经典延迟层级",
	"job was aborted before it ran":                                                                                                                              "任务在运行前已被中止",
	"job completed":                                                                                                                                              "任务完成",
	"job aborted while running":                                                                                                                                  "任务在运行中被中止",
	"job failed; retrying":                                                                                                                                       "任务失败，将重试",
	"job failed; sending it to the dead-letter queue":                                                                                                            "任务失败，发送到死信队列",
	"malformed job message; sending it to the dead-letter queue":                                                                                                 "任务消息格式错误，发送到死信队列",
	"cannot record that the job is in progress":                                                                                                                  "无法记录任务正在运行",
	"cannot acknowledge deliveries; the broker will redeliver them":                                                                                              "无法确认若干消息，RabbitMQ 将重新投递这些消息",
	"cannot acknowledge the delivery; the broker will redeliver it":                                                                                              "无法确认消息，RabbitMQ 将重新投递该消息",
	"cannot return the delivery to the queue; the broker will redeliver it":                                                                                      "无法将消息退回队列，RabbitMQ 将重新投递该消息",

	// host/job.go, composed by requeue (what + "; returning the job to the queue") and persist
	// ("cannot " + what + " yet; trying again"): the forms that occur. Each must equal the
	// composition of its fragments below (TestComposedEntriesAgree).
	"cannot read the job's record; returning the job to the queue":                       "无法读取任务记录，将任务退回队列",
	"cannot record that the job started; returning the job to the queue":                 "无法记录任务已开始，将任务退回队列",
	"cannot publish the job's retry or dead-letter copy; returning the job to the queue": "无法发布任务的重试或死信副本，将任务退回队列",
	"cannot record the job's result; returning the job to the queue":                     "无法记录任务结果，将任务退回队列",
	"cannot publish the job's retry or dead-letter copy yet; trying again":               "暂时无法发布任务的重试或死信副本，稍后重试",
	"cannot record the job's result yet; trying again":                                   "暂时无法记录任务结果，稍后重试",

	// host/wasm
	"cannot instantiate module":           "无法实例化模块",
	"guest did not stop when interrupted": "Wasm 模块被中断后仍未停止",
	"instance discarded":                  "已丢弃模块实例",

	// internal/broker
	"cannot connect to RabbitMQ, retrying":             "无法连接 RabbitMQ，正在重试",
	"cannot reconnect to RabbitMQ, retrying":           "无法重新连接 RabbitMQ，正在重试",
	"lost the RabbitMQ connection, reconnecting":       "RabbitMQ 连接已断开，正在重新连接",
	"cannot reach Redis, retrying":                     "无法连接 Redis，正在重试",
	"reached Redis":                                    "已连接 Redis",
	"reconnected to RabbitMQ":                          "已重新连接 RabbitMQ",
	"RabbitMQ blocked publishing on this connection":   "RabbitMQ 阻塞了此连接上的消息发布",
	"RabbitMQ unblocked publishing on this connection": "RabbitMQ 解除了此连接上的发布阻塞",

	// Job statuses (internal/store Status), as the CLI shows them.
	"queued":      "排队中",
	"in_progress": "运行中",
	"completed":   "已完成",
	"failed":      "失败",
	"retrying":    "重试中",
	"aborted":     "已中止",

	// cmd/arqhost: messages and errors
	"error":                                 "错误",
	"serving metrics and health checks":     "正在提供监控指标和健康检查服务",
	"cancelled":                             "已取消",
	"--output must be text or json, not %q": "--output 只能是 text 或 json，而不是 %q",
	"--at %q is not an RFC 3339 time such as 2026-01-15T10:30:00Z":           "--at %q 不是 RFC 3339 格式的时间（例如 2026-01-15T10:30:00Z）",
	"--defer %q is not a duration such as 10s or 5m":                         "--defer %q 不是有效的时长（例如 10s 或 5m）",
	"--count must be at least 1":                                             "--count 至少为 1",
	"--args must be a JSON array, such as '[\"ann@example.com\", 3]'":        "--args 必须是 JSON 数组，例如 '[\"ann@example.com\", 3]'",
	"--kwargs must be a JSON object, such as '{\"subject\": \"hi\"}'":        "--kwargs 必须是 JSON 对象，例如 '{\"subject\": \"hi\"}'",
	"--wait needs result storage: set --redis-url (or ARQ_RESULT_STORE_URL)": "--wait 需要结果存储：请设置 --redis-url（或 ARQ_RESULT_STORE_URL）",
	"(showing at most %d per queue; --limit 0 shows all)":                    "（每个队列最多显示 %d 个；--limit 0 显示全部）",
	"--defer and --at cannot be used together":                               "--defer 和 --at 不能同时使用",
	"gave up waiting for job %s: it has not finished":                        "已放弃等待任务 %s：它尚未完成",
	"--job-id and --count cannot be used together":                           "--job-id 和 --count 不能同时使用",
	"enqueued job":                         "任务已入队",
	"a job with this id already exists":    "已存在相同 ID 的任务",
	"after %d jobs: %w":                    "发送 %d 个任务后出错：%w",
	"enqueued %d jobs in %s (%.0f jobs/s)": "已入队 %d 个任务，用时 %s（%.0f 个任务/秒）",
	"job %s %s":                            "任务 %s %s",
	"result storage is disabled: set --redis-url (or ARQ_RESULT_STORE_URL)":                                                         "结果存储未启用：请设置 --redis-url（或 ARQ_RESULT_STORE_URL）",
	"no record of job %s: it was never enqueued with this result store (check --redis-url and --key-prefix), or its record expired": "找不到任务 %s 的记录：它从未通过此结果存储入队（请检查 --redis-url 和 --key-prefix），或其记录已过期",
	"queue %q does not exist (no worker or client has declared it yet)":                                                             "队列 %q 不存在（尚无 Worker 或客户端声明过它）",
	"Delete every waiting and delayed job of %s?":                                                                                   "删除 %s 中所有等待和延迟的任务？",
	"Delete every dead-lettered job of %s?":                                                                                         "删除 %s 的所有死信任务？",
	"refusing to delete without confirmation: pass --yes":                                                                           "未经确认不会删除：请使用 --yes",
	"purge %s: %w":                                        "清空 %s：%w",
	"purged %d jobs from %s":                              "已从 %[2]s 清除 %[1]d 个任务",
	"purged %d dead-lettered jobs":                        "已清除 %d 个死信任务",
	"job %s is not in the dead-letter queue of %s":        "任务 %s 不在 %s 的死信队列中",
	"name the jobs to requeue, or pass --all":             "请指定要重新入队的任务，或使用 --all",
	"%s: its body is not a job (%v); it stays in the DLQ": "%s：消息体不是任务（%v），保留在死信队列中",
	"%s: not in the dead-letter queue":                    "%s：不在死信队列中",
	"requeue %s: %w":                                      "重新入队 %s：%w",
	"requeued %d jobs":                                    "已重新入队 %d 个任务",
	"some jobs were not requeued":                         "部分任务未能重新入队",
	"%s is not a directory of modules":                    "%s 不是模块目录",
	"no *.wasm modules in %s":                             "%s 中没有 *.wasm 模块",
	"task %q is also served by %s":                        "任务 %q 也由 %s 提供",
	"%d of %d modules are invalid":                        "%d 个模块无效（共 %d 个）",
	"ok":                                                  "正常",
	"INVALID":                                             "无效",
	"instances":                                           "实例数",

	// cmd/arqhost: field labels
	"job":      "任务ID",
	"task":     "任务",
	"status":   "状态",
	"try":      "尝试次数",
	"tries":    "尝试次数",
	"queue":    "队列",
	"worker":   "Worker",
	"module":   "模块",
	"enqueued": "入队时间",
	"started":  "开始时间",
	"finished": "结束时间",
	"duration": "耗时",
	"next try": "下次尝试",
	"result":   "返回值",
	"outcome":  "结果",
	"reason":   "原因",
	"headers":  "消息头",
	"body":     "消息体",

	// cmd/arqhost: table headers
	"QUEUE":     "队列",
	"READY":     "就绪",
	"UNACKED":   "未确认",
	"CONSUMERS": "消费者",
	"DELAYED":   "延迟",
	"DLQ":       "死信",
	"JOB":       "任务ID",
	"TASK":      "任务",
	"TRIES":     "尝试次数",
	"OUTCOME":   "结果",
	"ERROR":     "错误",
	"FAILED AT": "失败时间",
	"MODULE":    "模块",
	"STATUS":    "状态",
	"DETAILS":   "详情",

	// internal/control
	"control channel lost; reconnecting":                     "控制通道已断开，正在重新连接",
	"answering control commands again":                       "已恢复响应控制命令",
	"cannot restore the control channel yet; will try again": "暂时无法恢复控制通道，稍后重试",
	"cannot answer a control command":                        "无法回复控制命令",
	"a control command handler panicked":                     "控制命令处理函数发生 panic",

	// host/modules.go, host/control.go: hot swap
	"serving module": "正在服务模块",
	"watching the modules directory for changes":              "正在监视模块目录的变化",
	"cannot reload the modules; the loaded ones keep serving": "无法重新加载模块；已加载的模块继续服务",
	"module added": "已添加模块",
	"module replaced: new jobs run on the new version, running ones finish on the old":                   "模块已替换：新任务在新版本上运行，运行中的任务在旧版本上完成",
	"module removed: its tasks are no longer served once running jobs finish":                            "模块已移除：运行中的任务完成后不再处理其任务",
	"module refused; the loaded version keeps serving, but a restart would fail until the file is fixed": "模块被拒绝；已加载的版本继续服务，但在修复该文件之前重启将会失败",
	"module still refused": "模块仍被拒绝",
	"no control channel: arqhost modules list and reload will not reach this worker": "没有控制通道：arqhost modules list 和 reload 无法到达此 Worker",
	"module file changed moments ago; loading it once it settles":                    "模块文件刚刚改变；待其稳定后再加载",
	"old module version drained and closed":                                          "旧版本模块已排空并关闭",
	"reloading the modules, as asked on the control channel":                         "按控制通道的请求重新加载模块",
	"reloading the modules, as asked on the admin endpoint":                          "按管理端点的请求重新加载模块",

	// cmd/arqhost/worker.go, cmd/arqhost/fleet.go
	"SIGHUP: reloading the modules":                            "收到 SIGHUP：重新加载模块",
	"%s does not serve the worker's admin endpoints (HTTP %d)": "%s 没有提供 Worker 的管理端点（HTTP %d）",
	"no worker answered":                                       "没有 Worker 应答",
	"%d of %d workers refused a module or could not reload":    "%d/%d 个 Worker 拒绝了模块或无法重新加载",
	"%d modules": "%d 个模块",
	"unchanged":  "未改变",
	"WORKER":     "工作进程",
	"STATE":      "状态",
	"TASKS":      "任务",
	"VERSION":    "版本",
	"EVENT":      "事件",
	"BUSY/LIVE":  "忙/总",
	"active":     "服务中",
	"draining":   "排空中",
	"added":      "已添加",
	"replaced":   "已替换",
	"removed":    "已移除",
	"refused":    "已拒绝",
	"pending":    "待定",
	"closed":     "已关闭",
}

// pattern is a message built around a fragment: prefix + fragment + suffix. Its translation is zh
// with the fragment's translation in place of %s. T uses the patterns for messages composed from a
// fragment that have no entry of their own.
type pattern struct {
	prefix, suffix, zh string
}

// patterns are the message shapes of host/job.go's helpers.
var patterns = []pattern{
	{prefix: "", suffix: "; returning the job to the queue", zh: "%s，将任务退回队列"}, // requeue
	{prefix: "cannot ", suffix: " yet; trying again", zh: "暂时无法%s，稍后重试"},       // persist
}

// fragments are the what strings host/job.go passes to requeue ("cannot ...") and persist (the
// bare verb phrase).
var fragments = map[string]string{
	"cannot read the job's record":                       "无法读取任务记录",
	"cannot record that the job started":                 "无法记录任务已开始",
	"cannot publish the job's retry or dead-letter copy": "无法发布任务的重试或死信副本",
	"cannot record the job's result":                     "无法记录任务结果",
	"publish the job's retry or dead-letter copy":        "发布任务的重试或死信副本",
	"record the job's result":                            "记录任务结果",
}

// keys maps log attribute keys (and group names) to Chinese, for the text log format (see
// NewHandler). Two keys that can appear in one record must not share a translation.
//
// TestKeyCatalogCoversSource fails for any constant key in the source that is missing here.
var keys = map[string]string{
	"job_id":         "任务ID",
	"task":           "任务",
	"tasks":          "任务列表",
	"queue":          "队列",
	"queues":         "队列列表",
	"try":            "尝试次数",
	"recorded_try":   "已记录的尝试次数",
	"next_try":       "下次尝试",
	"outcome":        "结果",
	"error":          "错误",
	"err":            "错误",
	"why":            "不重试原因",
	"detail":         "详情",
	"reason":         "原因",
	"worker_id":      "WorkerID",
	"module":         "模块",
	"module_version": "模块版本",
	"version":        "版本",
	"duration":       "耗时",
	"status":         "状态",
	"expires":        "过期时间",
	"wait":           "等待时长",
	"retry_in":       "重试延迟",
	"in":             "等待",
	"attempt":        "连接尝试次数",
	"attempts":       "连接尝试总次数",
	"timeout":        "超时",
	"grace":          "宽限期",
	"running":        "运行中任务数",
	"concurrency":    "并发数",
	"prefetch":       "预取数",
	"result_store":   "结果存储",
	"message_id":     "消息ID",
	"bytes":          "字节数",
	"deliveries":     "消息数",
	"component":      "组件",
	"url":            "URL",
	"addr":           "地址",
	"origin":         "来源",
	"attrs":          "附加属性",

	// internal/control
	"command": "控制命令",
	// host/modules.go
	"dir":         "目录",
	"old_version": "旧版本",
}
