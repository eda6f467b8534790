package i18n

import "testing"

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		`env ARQ_MAX_RETRIES: "three" is not a whole number`:          `env ARQ_MAX_RETRIES: "three" 不是整数`,
		"flag --concurrency: must be at least 1, got 0":               "flag --concurrency: 必须至少为 1，实际为 0",
		`config.yaml: unknown key "worker.max_wrokers" (line 5)`:      `config.yaml: 未知的键 "worker.max_wrokers" （第 5 行）`,
		`unknown command "nope" for "arqhost"`:                        `未知命令 "nope" （arqhost）`,
		"rabbitmq: service unreachable: dial tcp: connection refused": "rabbitmq: 服务不可达: dial tcp: 连接被拒绝",
	} {
		if got := Text(Zh, in); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
		if got := Text(En, in); got != in {
			t.Errorf("en changed %q", in)
		}
	}
}
