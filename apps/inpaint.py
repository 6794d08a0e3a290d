"""The inpainting dashboard: `panel serve apps/inpaint.py` (from the repository root).

It starts on the bundled demo sample and the shipped default model (no download, no generated dataset). The
logic lives in the library (`diffkit.session`: the `InpaintSession` model; `diffkit.dashboard`: its Panel view);
this file only serves it. The sample and the models load once per server process and are shared by every
browser session. Serve it with `bash run.sh`: localhost only, websocket origins, an upload-sized websocket limit,
and an optional login (PASSWORD=… or AUTH_FILE=…); the sessions' limits (upload and decoded size, run cost, GP
workers) come from DIFFKIT_* environment variables (apps/README.md).
"""
import panel as pn

from diffkit.session import shared_model, shared_sample
from diffkit.dashboard import dashboard

pn.extension(notifications=False)
shared_sample(); shared_model('uncond')   # once per server: the first page does not wait for them

dashboard().servable(title='diffkit · inpainting dashboard')
