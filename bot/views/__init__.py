"""Route handlers, one module per audience: public pages, the widget, the staff console, the editor."""
