package adminapi

import "github.com/labstack/echo/v5"

// registerTransfer adds the routes of backend.md §8.2 for this area.
func (h *handlers) registerTransfer(v1 *echo.Group) {
	_ = v1
}
