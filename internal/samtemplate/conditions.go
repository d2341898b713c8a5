package samtemplate

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

// ConditionTrue evaluates the template condition name (its Conditions
// section) against vars, as CloudFormation would against the stack's
// parameters: !Equals of resolved values, !Not, !And, !Or and
// !Condition. A resource whose Condition is false is not made locally.
func (t *Template) ConditionTrue(name string, vars map[string]string) (bool, error) {
	return t.condition(name, vars, map[string]bool{})
}

// ConditionVar is the name under which a map of values for Resolve holds
// a template condition's value ("true" or "false"), for !If.
func ConditionVar(name string) string { return "Condition::" + name }

// SetConditions evaluates every condition of the template against vars
// and puts each one's value into vars (ConditionVar), so that !If
// resolves. A condition that cannot be evaluated is left out (an !If on
// it fails, naming it).
func (t *Template) SetConditions(vars map[string]string) {
	for name := range t.conditions {
		delete(vars, ConditionVar(name))
	}
	for name := range t.conditions {
		if v, err := t.ConditionTrue(name, vars); err == nil {
			vars[ConditionVar(name)] = strconv.FormatBool(v)
		}
	}
}

// Active says whether a resource with this Condition ("" for none) exists
// in a deployment with vars.
func (t *Template) Active(condition string, vars map[string]string) (bool, error) {
	if condition == "" {
		return true, nil
	}
	return t.ConditionTrue(condition, vars)
}

func (t *Template) condition(name string, vars map[string]string, seen map[string]bool) (bool, error) {
	n, ok := t.conditions[name]
	if !ok {
		return false, fmt.Errorf("samtemplate: no condition %s in the template", name)
	}
	if seen[name] {
		return false, fmt.Errorf("samtemplate: condition %s refers to itself", name)
	}
	seen[name] = true
	defer delete(seen, name)
	v, err := t.evalCondition(n, vars, seen)
	if err != nil {
		return false, fmt.Errorf("samtemplate: condition %s: %w", name, err)
	}
	return v, nil
}

func (t *Template) evalCondition(n *yaml.Node, vars map[string]string, seen map[string]bool) (bool, error) {
	fn, arg := (Value{node: n}).intrinsic()
	switch fn {
	case "Condition":
		if arg.Kind != yaml.ScalarNode {
			return false, fmt.Errorf("!Condition of a non-scalar")
		}
		return t.condition(arg.Value, vars, seen)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return false, fmt.Errorf("!Equals takes two values")
		}
		a, err := (Value{node: arg.Content[0]}).Resolve(vars)
		if err != nil {
			return false, err
		}
		b, err := (Value{node: arg.Content[1]}).Resolve(vars)
		if err != nil {
			return false, err
		}
		return a == b, nil
	case "Fn::Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return false, fmt.Errorf("!Not takes one condition")
		}
		v, err := t.evalCondition(arg.Content[0], vars, seen)
		return !v, err
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 {
			return false, fmt.Errorf("%s takes two or more conditions", fn)
		}
		and := fn == "Fn::And"
		for _, c := range arg.Content {
			v, err := t.evalCondition(c, vars, seen)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("%s is not a condition function", (Value{node: n}).String())
}
