"""One lock for the work that torch's process-wide module hooks would disturb.

While ``FlopCounterMode`` counts (the guide's figures), it hooks every module call of the process, in every
thread; a gradient taken with ``torch.autograd.grad`` in another thread meanwhile (Grad-CAM, a map's detail)
fails inside those hooks. Both hold ``GLOBAL_HOOKS``: one visitor's guide never breaks another's drawing.
"""

from __future__ import annotations

import threading

GLOBAL_HOOKS = threading.RLock()
