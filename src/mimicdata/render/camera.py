"""How the camera moves: `follow` trails the root, `fixed` frames the whole motion from one place."""

from typing import Literal

Camera = Literal["follow", "fixed"]
