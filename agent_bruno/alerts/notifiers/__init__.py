"""One notifier per channel behind one interface (`base.Notifier`)."""
