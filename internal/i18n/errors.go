package i18n

import (
	"regexp"
	"sort"
	"strings"
)

// lineRef is a YAML line reference in a configuration error.
var lineRef = regexp.MustCompile(`\(line (\d+)\)`)

// phrases translates the fixed parts of error texts that are composed at run time (configuration
// errors, cobra's usage errors, connection failures), which T cannot match whole: each English
// phrase found in the text is replaced by its Chinese. Values (keys, numbers, names) stay as they
// are.
var phrases = map[string]string{
	// configuration (internal/config)
	"unknown key":           "未知的键",
	"is not a whole number": "不是整数",
	"is not a duration (use e.g. 30s, 5m, 1h or a number of seconds)":    "不是时长（例如 30s、5m、1h 或秒数）",
	"is not a boolean (use true/false, yes/no, on/off or 1/0)":           "不是布尔值（使用 true/false、yes/no、on/off 或 1/0）",
	"is not a size (use bytes or a KiB, MiB or GiB suffix, e.g. 256MiB)": "不是大小（使用字节数或 KiB、MiB、GiB 后缀，例如 256MiB）",
	"is not a language (use en or zh)":                                   "不是支持的语言（使用 en 或 zh）",
	"is not a log format (use text or json)":                             "不是日志格式（使用 text 或 json）",
	"is not a log level (use debug, info, warn or error)":                "不是日志级别（使用 debug、info、warn 或 error）",
	"is not host:port":               "不是 host:port 格式",
	"is not a URL":                   "不是 URL",
	"is not a valid URL":             "不是有效的 URL",
	"must be at least":               "必须至少为",
	"must be between":                "必须介于",
	"must be greater than":           "必须大于",
	"must not be negative":           "不能为负数",
	"must not be empty":              "不能为空",
	"a queue name must not be empty": "队列名称不能为空",
	"at least one queue is needed":   "至少需要一个队列",
	"is reserved":                    "是保留名称",
	", got ":                         "，实际为 ",
	"(line ":                         "（第 ",
	"(use ":                          "（使用 ",
	// cobra
	"unknown command":        "未知命令",
	"unknown flag":           "未知参数",
	"unknown shorthand flag": "未知的短参数",
	"flag needs an argument": "参数需要一个值",
	"invalid argument":       "无效的参数值",
	"accepts ":               "接受 ",
	"arg(s), received":       "个参数，实际收到",
	"requires at least":      "至少需要",
	"for \"arqhost\"":        "（arqhost）",
	// connections and services
	"service unreachable":            "服务不可达",
	"connection refused":             "连接被拒绝",
	"context deadline exceeded":      "超时",
	"no such file or directory":      "文件或目录不存在",
	"not a valid WebAssembly module": "不是有效的 WebAssembly 模块",
	"no task modules (*.wasm) in":    "目录中没有任务模块（*.wasm）：",
	"a worker without modules would dead-letter every job as an unknown task": "没有模块的 Worker 会把每个任务作为未知任务送入死信队列",
	"result store": "结果存储",
}

// phraseOrder lists the phrases longest first, so that a phrase wins over the shorter ones it
// contains.
var phraseOrder = func() []string {
	ks := make([]string, 0, len(phrases))
	for k := range phrases {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return len(ks[i]) > len(ks[j]) })
	return ks
}()

// Text translates an error text composed at run time: the whole text when the catalog has it,
// otherwise its known phrases. English is returned unchanged.
func Text(lang Lang, msg string) string {
	if lang != Zh {
		return msg
	}
	if t := T(lang, msg); t != msg {
		return t
	}
	msg = lineRef.ReplaceAllString(msg, "（第 $1 行）")
	var b strings.Builder
	for i := 0; i < len(msg); {
		matched := false
		for _, p := range phraseOrder {
			if strings.HasPrefix(msg[i:], p) {
				b.WriteString(phrases[p])
				i += len(p)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(msg[i])
			i++
		}
	}
	return b.String()
}
