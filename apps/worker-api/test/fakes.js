// In-memory stand-ins for the Worker's bindings, with the same method shapes the
// Worker uses. They live in the test folder because only tests need them.
import { Counter } from "../.test-build/index.js";

export class FakeKV {
  constructor() {
    this.data = new Map();
    this.failWith = null;
  }
  async get(key, options) {
    if (this.failWith) throw this.failWith;
    const value = this.data.get(key);
    if (value === undefined) return null;
    const type = typeof options === "string" ? options : options?.type;
    return type === "json" ? JSON.parse(value) : value;
  }
  async put(key, value) {
    if (this.failWith) throw this.failWith;
    if (typeof value !== "string") throw new TypeError("FakeKV stores strings only");
    this.data.set(key, value);
  }
  async delete(key) {
    this.data.delete(key);
  }
}

class FakeStorage {
  constructor() {
    this.data = new Map();
  }
  async get(key) {
    return this.data.get(key);
  }
  async put(key, value) {
    this.data.set(key, structuredClone(value));
  }
}

// One Counter instance per name, reached through fetch like the runtime's stub.
export class FakeCounterNamespace {
  constructor() {
    this.objects = new Map();
  }
  idFromName(name) {
    return { name, toString: () => `id:${name}` };
  }
  get(id) {
    return {
      fetch: async (input, init) => {
        let object = this.objects.get(id.name);
        if (!object) {
          object = new Counter({ storage: new FakeStorage() }, {});
          this.objects.set(id.name, object);
        }
        return object.fetch(new Request(input, init));
      },
    };
  }
}

export function remoteOnlyError(binding) {
  return new Error(`Binding ${binding} needs to be run remotely`);
}

export function newEnv(overrides = {}) {
  return {
    TENANT_ID: "mrrainbowsmoke",
    ENVIRONMENT: "staging",
    LOG_LEVEL: "error",
    FEATURE_VECTOR_SEARCH: "true",
    FEATURE_AI_CHAT: "true",
    CACHE: new FakeKV(),
    COUNTER: new FakeCounterNamespace(),
    VECTORIZE: {
      query: async () => {
        throw remoteOnlyError("VECTORIZE");
      },
    },
    AI: {
      run: async () => {
        throw remoteOnlyError("AI");
      },
    },
    CF_VERSION_METADATA: {
      id: "0c4ee4b5-3b0a-4a5e-9f61-6f3c2a1d7e90",
      tag: "v42",
      timestamp: "2026-11-28T10:00:00.000Z",
    },
    ...overrides,
  };
}

export function newCtx() {
  const pending = [];
  return {
    pending,
    waitUntil(promise) {
      pending.push(promise);
    },
    passThroughOnException() {},
  };
}
