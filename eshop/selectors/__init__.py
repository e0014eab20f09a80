"""The shop's reads, one module per area: catalog, search (and search_query: how a query reads),
cart, orders, addresses. Import from the module (eshop.selectors.cart), not from here."""
