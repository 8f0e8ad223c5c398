"""Training: the loop (``loop``), evaluation, recipes (``presets``), torchrun's edges (``distributed``),
background jobs for the page (``jobs``), run and device comparison (``comparison``) and the page's charts."""
