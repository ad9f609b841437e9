"""The treatment pages: the protocol settings (`pages`: the list, one protocol, the form that
enters a version; `signing`: the signature and the discard), the orders (`orders`: the
pharmacist's queue, one order and its forms; `order_parts`: what the order page shows), the
infusion-day checklist (`infusion`), IL-2 dose by dose (`il2`) and the bedside page (`bedside`)."""
