"""``genxd demo``: a local web app to author camera paths, generate 3D / 4D scenes and look at them in 3D.

- :mod:`genxd.demo.app`: the page (Gradio) and its handlers;
- :mod:`genxd.demo.cameras`: camera paths from the page's form (presets, files, keyframes, videos);
- :mod:`genxd.demo.preview`: the camera preview (.glb frusta with the input image);
- :mod:`genxd.demo.glb`: a minimal .glb writer;
- :mod:`genxd.demo.jobs`: generation and lift-to-3D jobs with progress and cancel, one per device;
- :mod:`genxd.demo.session`: per-session folders and upload validation.

Needs the ``demo`` extra (``pip install "genxd[demo]"``) for the page; the other modules need only genxd.
See ``docs/demo.md``.
"""
