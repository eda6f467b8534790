#!/usr/bin/env bash
# Makes sure RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379) answer: starts local ones where
# this machine has them installed, and otherwise says what to do.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 "$2"); do up "$1" && return 0; sleep 1; done; return 1; }

if ! up 6379; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_for 6379 10 || { echo "Redis did not start; see its log" >&2; exit 1; }
  else
    echo "Redis is not running on 127.0.0.1:6379 and is not installed here." >&2
    echo "Install it (Debian: apt-get install redis-server) or point ARQ_RESULT_STORE_URL at one." >&2
    exit 1
  fi
fi
if ! up 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ on 127.0.0.1:5672 (this takes a few seconds)"
    rabbitmq-server -detached >/dev/null 2>&1
    wait_for 5672 60 || { echo "RabbitMQ did not start; see /var/log/rabbitmq" >&2; exit 1; }
  else
    echo "RabbitMQ is not running on 127.0.0.1:5672 and is not installed here." >&2
    echo "Install it (Debian: apt-get install rabbitmq-server) or point RABBITMQ_URL at one." >&2
    exit 1
  fi
fi
echo "RabbitMQ and Redis are up"
