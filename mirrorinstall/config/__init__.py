"""``minstall config apply|show|undo``: the best-measured mirrors written into each tool's own
configuration (conda's ``.condarc``, pip's ``pip.conf``, uv's ``uv.toml``, pixi's
``config.toml``), reversibly.

``locations`` says where each tool reads its files (pure), ``desired`` what they should say
(pure), ``condarc``/``pipconf``/``tomlconf`` edit one file's text without losing the rest
(pure), ``show`` reads what is configured now (pure), and ``files`` is the disk edge: backups,
atomic writes, the record ``undo`` reads.
"""
