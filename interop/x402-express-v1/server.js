// x402 v1 Express server built on the legacy reference SDK (x402-express + x402).
// Used as a `paycheck run --spawn` target: listens on 127.0.0.1:$PORT and uses the
// facilitator at $FACILITATOR_URL (paycheck's mock facilitator).
"use strict";

const express = require("express");
const { paymentMiddleware } = require("x402-express");

const PORT = Number(process.env.PORT || 4021);
const FACILITATOR_URL = process.env.FACILITATOR_URL;
if (!FACILITATOR_URL) {
  console.error("FACILITATOR_URL is not set");
  process.exit(2);
}

const NETWORK = "base-sepolia"; // v1 network name (eip155:84532)
const PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

const routes = {
  "GET /premium": {
    price: "$0.01",
    network: NETWORK,
    config: { description: "Premium content", mimeType: "application/json" },
  },
  "POST /compute": {
    price: "$0.05",
    network: NETWORK,
    config: { description: "Paid computation", mimeType: "application/json" },
  },
};

const app = express();
app.use(express.json());
app.use(paymentMiddleware(PAY_TO, routes, { url: FACILITATOR_URL.replace(/\/+$/, "") }));

app.get("/health", (_req, res) => {
  res.json({ ok: true });
});

app.get("/premium", (_req, res) => {
  res.json({ content: "premium", served: new Date().toISOString() });
});

app.post("/compute", (req, res) => {
  if (req.body && req.body.fail === true) {
    res.status(500).json({ error: "computation failed" });
    return;
  }
  if (req.body && req.body.queue === true) {
    res.status(202).json({ result: "queued" });
    return;
  }
  res.json({ result: 42 });
});

const server = app.listen(PORT, "127.0.0.1", () => {
  console.log(`x402-express-v1 listening on http://127.0.0.1:${PORT} (facilitator ${FACILITATOR_URL})`);
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
