import { HttpError } from "./http.js";

// Keys and counter names end up in KV keys and Durable Object names; a narrow
// alphabet keeps them printable, unambiguous and free of path tricks.
const namePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function checkName(kind: string, value: string | undefined): string {
  if (value === undefined || !namePattern.test(value)) {
    throw new HttpError(
      400,
      "invalid_name",
      `the ${kind} must be 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit`,
      { field: kind },
    );
  }
  return value;
}
