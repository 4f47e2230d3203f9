//! Social proofs: an expert links a LinkedIn or Instagram account by signing
//! in there (OAuth 2 authorization code flow). We keep who the provider says
//! signed in, never their tokens: the link proves control of the account at
//! the time it was made, and is shown on the expert's public page.

pub mod client;
pub mod oauth;
pub mod state;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::accounts::text_enum;
use crate::settings::{OAuthSettings, SocialSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Linkedin,
    Instagram,
}

text_enum!(Provider { Linkedin = "linkedin", Instagram = "instagram" });

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Linkedin, Provider::Instagram];

    pub fn title(self) -> &'static str {
        match self {
            Provider::Linkedin => "LinkedIn",
            Provider::Instagram => "Instagram",
        }
    }

    /// How this provider's profile is read. The flow is otherwise the same.
    pub fn shape(self) -> &'static ProfileShape {
        match self {
            Provider::Linkedin => &ProfileShape::OIDC_USERINFO,
            Provider::Instagram => &ProfileShape::INSTAGRAM_ME,
        }
    }

    pub fn settings(self, s: &SocialSettings) -> &OAuthSettings {
        match self {
            Provider::Linkedin => &s.linkedin,
            Provider::Instagram => &s.instagram,
        }
    }

    /// The settings section, for configuration errors.
    pub fn section(self) -> &'static str {
        match self {
            Provider::Linkedin => "control.social.linkedin",
            Provider::Instagram => "control.social.instagram",
        }
    }
}

/// Where the access token goes on the profile request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer` (RFC 6750), as OpenID Connect's userinfo wants.
    Header,
    /// An `access_token` query parameter, as Instagram's Graph API documents.
    Query,
}

/// The differences between providers, as data: which profile fields name
/// the person and how to reach their public page.
#[derive(Debug)]
pub struct ProfileShape {
    /// The provider's stable id of the person (survives renames).
    pub subject: &'static str,
    /// What the public page shows.
    pub handle: &'static str,
    /// The public page is this prefix + the handle; `None` when the profile
    /// gives no address of a public page.
    pub page: Option<&'static str>,
    pub token: TokenPlacement,
}

impl ProfileShape {
    /// OpenID Connect userinfo: `sub` and `name`. LinkedIn's has no profile
    /// URL (its `vanityName` is not offered to OIDC clients).
    pub const OIDC_USERINFO: ProfileShape = ProfileShape {
        subject: "sub",
        handle: "name",
        page: None,
        token: TokenPlacement::Header,
    };

    /// Instagram Graph `me?fields=user_id,username`.
    pub const INSTAGRAM_ME: ProfileShape = ProfileShape {
        subject: "user_id",
        handle: "username",
        page: Some("https://www.instagram.com/"),
        token: TokenPlacement::Query,
    };
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub subject: String,
    pub handle: String,
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    #[error("{} sign-in is not configured", .0.title())]
    NotConfigured(Provider),
    /// Bad signature, expired, already used, or for an account that can no
    /// longer link (deactivated, no longer an expert).
    #[error("the sign-in state is not valid")]
    InvalidState,
    /// A valid state landing in a browser that did not start the flow: what
    /// someone does who sends their own authorize URL to another person so
    /// that person's account gets linked to their profile.
    #[error("the sign-in was finished in another browser than the one that started it")]
    OtherBrowser,
    #[error("the person declined at the provider")]
    Denied,
    /// The token endpoint refused the code (expired, used, not ours).
    #[error("{} refused the authorization code: {detail}", .provider.title())]
    CodeRejected { provider: Provider, detail: String },
    /// No answer, a server error, or an answer we cannot read.
    #[error("{} is unavailable: {detail}", .provider.title())]
    Unavailable { provider: Provider, detail: String },
}
