"""gupcheck: does this page-pinning design keep pinned pages and writeback apart?

A model checker for the Linux get_user_pages()/pin_user_pages() debate: an executable model of the
kernel machinery, a general explicit-state checker, and the designs to compare.
"""

__version__ = "0.1.0"
