"""Quality: the ERP contract's NCR reports (their types, photos and lifecycle held as data)."""
