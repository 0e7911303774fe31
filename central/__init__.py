"""Atelier central service: the ERP/CRM side (work orders, stock, customers, dispatch, ETA)."""
