#!/usr/bin/env node
// Posts one line about every deploy record to DEPLOY_WEBHOOK_URL, as JSON both Slack ("text")
// and Discord ("content") accept. Without DEPLOY_WEBHOOK_URL it does nothing. It is told only
// the DEPLOY_* facts (README "Plugin scripts"): no token can reach the message.
const env = process.env;
const url = env.DEPLOY_WEBHOOK_URL;
if (!url) {
  console.log("webhook: DEPLOY_WEBHOOK_URL is not set; nothing posted");
  process.exit(0);
}
const version = env.DEPLOY_VERSION_ID || "(none)";
const was = env.DEPLOY_PREVIOUS_VERSION_ID ? ` (was ${env.DEPLOY_PREVIOUS_VERSION_ID})` : "";
const line = `deploy ${env.DEPLOY_TENANT}/${env.DEPLOY_ENV}: ${env.DEPLOY_STATUS || "unknown"}, version ${version}${was}, ${env.DEPLOY_URL}`;
try {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: line, content: line }),
    signal: AbortSignal.timeout(10000),
  });
  if (!res.ok) {
    console.error(`webhook: the receiver answered ${res.status}`);
    process.exit(1);
  }
  console.log(`webhook: posted: ${line}`);
} catch (err) {
  console.error(`webhook: could not post: ${err.message}`);
  process.exit(1);
}
