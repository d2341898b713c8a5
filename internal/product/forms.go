package product

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/httpapi"
)

// The product API's forms routes (internal/forms has the use case).

var formFailures = []httpapi.Failure{
	{Err: forms.ErrInvalid, Status: 400, Code: "invalid_request"},
	{Err: forms.ErrNotFound, Status: 404, Code: "not_found", Message: "No such form."},
	{Err: forms.ErrConnectionNotFound, Status: 404, Code: "not_found", Message: "No such connection."},
	{Err: forms.ErrDisconnected, Status: 409, Code: "connection_disconnected", Message: "The connection is disconnected: connect the org again before making forms for it."},
}

// formRoute serves the forms routes; ok is false for another route.
func (h *Handler) formRoute(ctx context.Context, route string, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, bool) {
	if h.Forms == nil {
		return events.APIGatewayV2HTTPResponse{}, false
	}
	id, formID := req.PathParameters["connection_id"], req.PathParameters["form_id"]
	base := h.baseURL(req)
	switch route {
	case "POST /connections/{connection_id}/forms":
		var spec forms.Spec
		if err := decode(req, &spec); err != nil {
			return h.fail(err), true
		}
		f, err := h.Forms.Create(ctx, id, spec)
		if err != nil {
			return h.formFail(err), true
		}
		action := forms.ActionURL(base, f.ID)
		return httpapi.JSON(201, map[string]string{"form_id": f.ID, "action_url": action, "html": forms.Snippet(f, action)}), true
	case "GET /connections/{connection_id}/forms":
		fs, err := h.Forms.List(ctx, id)
		if err != nil {
			return h.formFail(err), true
		}
		views := make([]forms.View, 0, len(fs))
		for _, f := range fs {
			views = append(views, forms.ViewOf(f, base))
		}
		return httpapi.JSON(200, map[string]any{"forms": views}), true
	case "GET /connections/{connection_id}/forms/{form_id}":
		f, err := h.Forms.Get(ctx, id, formID)
		if err != nil {
			return h.formFail(err), true
		}
		v := forms.ViewOf(f, base)
		return httpapi.JSON(200, struct {
			forms.View
			HTML string `json:"html"`
		}{v, forms.Snippet(f, v.ActionURL)}), true
	case "DELETE /connections/{connection_id}/forms/{form_id}":
		if err := h.Forms.Delete(ctx, id, formID); err != nil {
			return h.formFail(err), true
		}
		return httpapi.JSON(200, map[string]string{"status": "deleted"}), true
	}
	return events.APIGatewayV2HTTPResponse{}, false
}

func (h *Handler) formFail(err error) events.APIGatewayV2HTTPResponse {
	e := httpapi.Match(err, formFailures)
	if e == nil {
		return h.fail(err)
	}
	if errors.Is(err, forms.ErrInvalid) && err != forms.ErrInvalid {
		e.Message = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(err.Error(), forms.ErrInvalid.Error()), ":"))
	}
	return httpapi.JSON(e.Status, e)
}
