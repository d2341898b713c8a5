package formstest_test

import (
	"testing"

	"github.com/zohoconnect/zohoconnect/internal/forms"
	"github.com/zohoconnect/zohoconnect/internal/forms/formstest"
	"github.com/zohoconnect/zohoconnect/internal/storetest"
)

func TestFormsContract(t *testing.T) {
	storetest.RunFormsContract(t, func(*testing.T) forms.Store { return formstest.New() })
}
