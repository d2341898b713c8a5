package localinvoke

import (
	"fmt"
	"strings"

	"github.com/zohoconnect/zohoconnect/internal/samtemplate"
)

// FunctionFor is the function of a template that an event is delivered
// to (see Stage.FunctionFor): an HTTP API request by its routeKey, an
// SQS record to the consumer of the queue its eventSourceARN names (a
// queue's ARN carries its logical id), or of the only queue consumer; a
// DynamoDB stream record likewise to the reader of its table's stream; a
// scheduled event to the only function with a schedule. "" and no error
// for an event the template does not deliver.
func FunctionFor(functions []samtemplate.Function, routes []samtemplate.Route, event []byte) (string, error) {
	ev, err := decodeObject(event)
	if err != nil {
		return "", err
	}
	switch {
	case isHTTP(ev):
		rk := str(ev["routeKey"])
		for _, r := range routes {
			if r.Method+" "+r.Path == rk {
				return r.FunctionLogicalID, nil
			}
		}
		return "", fmt.Errorf("localinvoke: the template has no route %q", rk)
	case isSQS(ev):
		arn := str(ev["Records"].([]any)[0].(map[string]any)["eventSourceARN"])
		var consumers []string
		for _, fn := range functions {
			for _, e := range fn.Events {
				if e.Type != "SQS" {
					continue
				}
				id := getAttID(propertyNode(e.Properties, "Queue"))
				if id != "" && strings.Contains(arn, id) {
					return fn.LogicalID, nil
				}
				consumers = append(consumers, fn.LogicalID)
			}
		}
		return only("an SQS event", consumers)
	case isStream(ev):
		arn := str(ev["Records"].([]any)[0].(map[string]any)["eventSourceARN"])
		var readers []string
		for _, fn := range functions {
			for _, e := range fn.Events {
				if e.Type != "DynamoDB" {
					continue
				}
				id := getAttID(propertyNode(e.Properties, "Stream"))
				if id != "" && strings.Contains(arn, id) {
					return fn.LogicalID, nil
				}
				readers = append(readers, fn.LogicalID)
			}
		}
		return only("a DynamoDB stream event", readers)
	case isScheduled(ev):
		var scheduled []string
		for _, fn := range functions {
			for _, e := range fn.Events {
				if e.Type == "Schedule" || e.Type == "ScheduleV2" {
					scheduled = append(scheduled, fn.LogicalID)
					break
				}
			}
		}
		return only("a scheduled event", scheduled)
	}
	return "", nil
}

func only(what string, ids []string) (string, error) {
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("localinvoke: no function of the template takes %s", what)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("localinvoke: %d functions take %s (%s): name one", len(ids), what, strings.Join(ids, ", "))
}
