"""An L402 server built on l402-kit (PyPI `l402kit`), for paycheck's interop run.

paycheck starts it with --spawn and these environment variables:
  PORT               where to listen, on 127.0.0.1
  LIGHTNING_URL      paycheck's mock Lightning backend (LNbits payments API)
  LIGHTNING_API_KEY  a key the mock accepts

Routes: GET /premium costs 100 sat (l402-kit's decorator); GET /health is free.
The app uses l402-kit as shipped: its LNbits provider and its default in-memory
replay store, with no CORS, rate limit or error handling of its own.
"""

import os

import uvicorn
from fastapi import FastAPI, Request
from l402kit import LNbitsProvider, l402_required

lightning = LNbitsProvider(
    api_key=os.environ["LIGHTNING_API_KEY"],
    base_url=os.environ["LIGHTNING_URL"],
)

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/premium")
@l402_required(price_sats=100, lightning=lightning)
async def premium(request: Request):
    return {"data": "premium content"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="info")
