package awsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/zohoconnect/zohoconnect/internal/connection"
)

// ReplacedRefreshToken reads the refresh token a reconnect replaced: the
// refresh secret's AWSPREVIOUS version (Secrets Manager keeps it when a
// new value is put). connection.ErrNoToken when there is none.
func (v *TokenVault) ReplacedRefreshToken(ctx context.Context, id string) (string, error) {
	out, err := v.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(v.RefreshSecretName(id)), VersionStage: aws.String("AWSPREVIOUS"),
	})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", connection.ErrNoToken
	}
	if err != nil {
		return "", fmt.Errorf("read the replaced refresh token of %s: %w", id, err)
	}
	var r refreshSecret
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &r); err != nil || r.RefreshToken == "" {
		return "", fmt.Errorf("the replaced refresh token secret of %s is not valid", id)
	}
	return r.RefreshToken, nil
}

// RefreshTokenWritten reads a connection's refresh token and when its
// current version was written (tokens migrate compares it with the other
// store's).
func (v *TokenVault) RefreshTokenWritten(ctx context.Context, id string) (string, time.Time, error) {
	out, err := v.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(v.RefreshSecretName(id))})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", time.Time{}, connection.ErrNoToken
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read secret %s: %w", v.RefreshSecretName(id), err)
	}
	var r refreshSecret
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &r); err != nil || r.RefreshToken == "" {
		return "", time.Time{}, fmt.Errorf("refresh token secret of %s is not valid", id)
	}
	return r.RefreshToken, aws.ToTime(out.CreatedDate), nil
}
