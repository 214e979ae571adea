// x402 v2 Express server built on the reference SDK (@x402/express + @x402/core + @x402/evm).
// Used as a `paycheck run --spawn` target: listens on 127.0.0.1:$PORT and uses the
// facilitator at $FACILITATOR_URL (paycheck's mock facilitator).
"use strict";

const express = require("express");
const { paymentMiddleware, x402ResourceServer } = require("@x402/express");
const { HTTPFacilitatorClient } = require("@x402/core/server");
const { ExactEvmScheme } = require("@x402/evm/exact/server");

const PORT = Number(process.env.PORT || 4021);
const FACILITATOR_URL = process.env.FACILITATOR_URL;
if (!FACILITATOR_URL) {
  console.error("FACILITATOR_URL is not set");
  process.exit(2);
}

const NETWORK = "eip155:84532"; // base-sepolia, CAIP-2
const PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

// The SDK bounds each facilitator call (timeoutMs, default 90000 ms). Left at the SDK
// default unless FACILITATOR_TIMEOUT_MS is set, so paycheck sees the SDK as shipped.
const facilitatorConfig = { url: FACILITATOR_URL };
if (process.env.FACILITATOR_TIMEOUT_MS) {
  facilitatorConfig.timeoutMs = Number(process.env.FACILITATOR_TIMEOUT_MS);
}
const facilitatorClient = new HTTPFacilitatorClient(facilitatorConfig);
const resourceServer = new x402ResourceServer(facilitatorClient).register(
  NETWORK,
  new ExactEvmScheme(),
);

const routes = {
  "GET /premium": {
    accepts: { scheme: "exact", price: "$0.01", network: NETWORK, payTo: PAY_TO },
    description: "Premium content",
    mimeType: "application/json",
  },
  "POST /compute": {
    accepts: { scheme: "exact", price: "$0.05", network: NETWORK, payTo: PAY_TO },
    description: "Paid computation",
    mimeType: "application/json",
  },
};

// PAYMENT_IDENTIFIER=optional|required declares the SDK's payment-identifier extension
// (@x402/extensions, a dependency of @x402/express) on every route, as its docs show.
// Off unless set, so the default job sees the SDK as shipped.
if (process.env.PAYMENT_IDENTIFIER) {
  const {
    PAYMENT_IDENTIFIER,
    declarePaymentIdentifierExtension,
    paymentIdentifierResourceServerExtension,
  } = require("@x402/extensions/payment-identifier");
  const required = process.env.PAYMENT_IDENTIFIER === "required";
  resourceServer.registerExtension(paymentIdentifierResourceServerExtension);
  for (const route of Object.values(routes)) {
    route.extensions = { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(required) };
  }
}

const app = express();
app.use(express.json());
app.use(paymentMiddleware(routes, resourceServer));

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
  console.log(`x402-express-v2 listening on http://127.0.0.1:${PORT} (facilitator ${FACILITATOR_URL})`);
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
