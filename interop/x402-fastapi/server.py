"""An x402 v2 server built on the official Python SDK (PyPI `x402`), for paycheck's interop run.

paycheck starts it with --spawn and these environment variables:
  PORT                    where to listen, on 127.0.0.1
  FACILITATOR_URL         paycheck's mock facilitator
  FACILITATOR_TIMEOUT_MS  optional: the SDK's per-call facilitator timeout (its default is 90 s)

Routes, the same as interop/x402-express-v2/server.js: GET /premium costs $0.01 and
POST /compute $0.05 (it answers 500 when the JSON body is {"fail": true} and 202 when it
is {"queue": true}), both in the SDK's default USDC on eip155:84532; GET /health is free. The app uses the SDK's FastAPI
middleware as shipped, with no CORS, caching or error handling of its own.
"""

import os
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from x402 import x402ResourceServer
from x402.http import FacilitatorConfig, HTTPFacilitatorClient, PaymentOption, RouteConfig
from x402.http.middleware.fastapi import payment_middleware
from x402.mechanisms.evm.exact import ExactEvmServerScheme

NETWORK = "eip155:84532"  # Base Sepolia, CAIP-2
PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"

facilitator_url = os.environ.get("FACILITATOR_URL")
if not facilitator_url:
    sys.exit("FACILITATOR_URL is not set")

# Only the URL is set unless FACILITATOR_TIMEOUT_MS asks for a bound of its own, so
# paycheck sees the SDK's default timeout.
facilitator_config = FacilitatorConfig(url=facilitator_url)
if os.environ.get("FACILITATOR_TIMEOUT_MS"):
    facilitator_config.timeout = int(os.environ["FACILITATOR_TIMEOUT_MS"]) / 1000

resource_server = x402ResourceServer(HTTPFacilitatorClient(facilitator_config))
resource_server.register(NETWORK, ExactEvmServerScheme())


def paid(price: str, description: str) -> RouteConfig:
    return RouteConfig(
        accepts=PaymentOption(scheme="exact", pay_to=PAY_TO, price=price, network=NETWORK),
        description=description,
        mime_type="application/json",
    )


routes = {
    "GET /premium": paid("$0.01", "Premium content"),
    "POST /compute": paid("$0.05", "Paid computation"),
}

# PAYMENT_IDENTIFIER=optional|required declares the SDK's payment-identifier extension
# (x402.extensions.payment_identifier) on every route, as its docstring shows. Off unless
# set, so the default job sees the SDK as shipped. It needs `x402[extensions]`, which
# requirements.txt leaves out: that extra pulls jsonschema and signinwithethereum, which
# downgrades web3 (8.0.0 to 7.16.0) and eth-account, so interop/payment-identifier/run.sh
# installs it in a venv of its own.
if os.environ.get("PAYMENT_IDENTIFIER"):
    from x402.extensions.payment_identifier import (
        PAYMENT_IDENTIFIER,
        declare_payment_identifier_extension,
        payment_identifier_resource_server_extension,
    )

    required = os.environ["PAYMENT_IDENTIFIER"] == "required"
    resource_server.register_extension(payment_identifier_resource_server_extension)
    for route in routes.values():
        route.extensions = {PAYMENT_IDENTIFIER: declare_payment_identifier_extension(required)}

app = FastAPI()
# Built once: creating the middleware asks the facilitator for GET /supported.
app.middleware("http")(payment_middleware(routes, resource_server))


@app.get("/health")
async def health():
    return {"ok": True}


@app.get("/premium")
async def premium():
    return {"content": "premium"}


@app.post("/compute")
async def compute(request: Request):
    body = await request.json() if await request.body() else {}
    if isinstance(body, dict) and body.get("fail") is True:
        return JSONResponse({"error": "computation failed"}, status_code=500)
    if isinstance(body, dict) and body.get("queue") is True:
        return JSONResponse({"result": "queued"}, status_code=202)
    return {"result": 42}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="info")
