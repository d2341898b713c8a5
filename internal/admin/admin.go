// Package admin holds the operator's use cases behind cmd/zohoconnect:
// list and show connections, disconnect one (revoke at Zoho, mark it,
// delete its secrets), rotate its submission key, set its field mapping,
// and list, replay and purge dead-lettered submissions. Each use case
// needs only some of the Service's parts; the command builds those.
package admin

import (
	"context"
	"errors"
	"time"

	"github.com/zohoconnect/zohoconnect/internal/clock"
	"github.com/zohoconnect/zohoconnect/internal/submissionstore"

	"github.com/zohoconnect/zohoconnect/internal/awsstore"
	"github.com/zohoconnect/zohoconnect/internal/connection"
	"github.com/zohoconnect/zohoconnect/pkg/zoho"
)

// ConnectionStore reads and changes connections (awsstore.ConnectionStore).
type ConnectionStore interface {
	Get(ctx context.Context, id string) (*connection.Connection, error)
	Update(ctx context.Context, id string, change func(*connection.Connection) error) (*connection.Connection, error)
}

// ConnectionLister reads every connection (awsstore.ConnectionStore).
type ConnectionLister interface {
	List(ctx context.Context, status connection.Status, fn func(*connection.Connection) error) (awsstore.ScanStats, error)
}

// SecretInspector tells whether a connection's token secrets exist
// (awsstore.TokenSecretInspector), without reading them.
type SecretInspector interface {
	Describe(ctx context.Context, id string) ([]awsstore.SecretInfo, error)
}

// TokenVault is what a disconnect needs of the tokens (awsstore.TokenVault).
type TokenVault interface {
	RefreshToken(ctx context.Context, id string) (string, error)
	Delete(ctx context.Context, id string) error
}

// OAuthClient makes the Zoho OAuth client from its secret
// (oauthclient.Source).
type OAuthClient interface {
	Config(ctx context.Context) (*zoho.Config, error)
}

// KeySource gives the submission-key minter (app.SubmissionKeySource).
type KeySource interface {
	Keys(ctx context.Context) (*connection.SubmissionKeys, error)
}

// Queue is an SQS queue (submissionstore.MessageQueue).
type Queue interface {
	Receive(ctx context.Context, n int, visibility, wait time.Duration) ([]submissionstore.QueueMessage, error)
	Send(ctx context.Context, m submissionstore.QueueMessage) error
	Delete(ctx context.Context, receiptHandle string) error
	Release(ctx context.Context, receiptHandle string) error
	ApproximateCount(ctx context.Context) (visible, inFlight int, err error)
}

var (
	_ ConnectionStore  = (*awsstore.ConnectionStore)(nil)
	_ ConnectionLister = (*awsstore.ConnectionStore)(nil)
	_ SecretInspector  = (*awsstore.TokenSecretInspector)(nil)
	_ TokenVault       = (*awsstore.TokenVault)(nil)
	_ Queue            = (*submissionstore.MessageQueue)(nil)
)

// ErrMessageNotFound is returned when a dead letter with the asked id is
// not in the queue (or not visible now).
var ErrMessageNotFound = errors.New("no such message in the dead-letter queue")

// ErrRevokeFailed is returned by a strict disconnect when Zoho did not
// confirm the revocation; nothing was changed.
var ErrRevokeFailed = errors.New("the refresh token could not be revoked at Zoho")

// Service is the operator's use cases. Only the parts a use case names
// need to be set.
type Service struct {
	Connections ConnectionStore
	Lister      ConnectionLister
	// Pages lists a tenant's connections through the tenant index.
	Pages   ConnectionPages
	Secrets SecretInspector
	Tokens  TokenVault
	OAuth   OAuthClient
	Keys    KeySource
	// DeadLetters is the submission queue's dead-letter queue; Submissions
	// the queue a replay sends to.
	DeadLetters Queue
	Submissions Queue
	// Entries are the sync function's idempotency entries: a dead
	// letter's state and last error, and a replay's re-queue.
	Entries SubmissionEntries
	Now     clock.Func
}

// ConnectionPages pages connections (awsstore.ConnectionStore.ListPage).
type ConnectionPages interface {
	ListPage(ctx context.Context, q connection.Query) (connection.Page, error)
}

func (s *Service) now() time.Time {
	return s.Now.Now().UTC()
}
