"""Personal data: numbers masked in logs, and everything held about one person exported, erased or expired.

`export`, `erase` and `retention` touch the store and files; import them from their modules (this one stays light).
"""

from switchboard.privacy.masking import MaskNumbersFilter, install_log_masking, mask_number, mask_text

__all__ = ["MaskNumbersFilter", "install_log_masking", "mask_number", "mask_text"]
