// Structured logs: one JSON object per line, so Workers Logs and `wrangler tail`
// can filter on fields. LOG_LEVEL comes from the tenant's vars; an unknown value
// falls back to "info" rather than silencing everything.
export type Level = "debug" | "info" | "warn" | "error";

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type Sink = (line: string) => void;

export function parseLevel(value: string | undefined): Level {
  const v = (value ?? "").toLowerCase();
  return v in rank ? (v as Level) : "info";
}

export function newLogger(level: string | undefined, base: Record<string, unknown>, sink: Sink = console.log): Logger {
  const min = rank[parseLevel(level)];
  const emit = (lvl: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (rank[lvl] < min) return;
    sink(JSON.stringify({ level: lvl, msg, ...base, ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
