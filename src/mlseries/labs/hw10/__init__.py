"""HW10 对抗攻击 / adversarial attack: proxies' gradients against a black box, and the JPEG defence."""
from . import blackbox  # noqa: F401
