//! Archives and transcodes recorded sessions and video messages. Not built
//! yet: until it is, `deepinfluence recorder` serves only its health and
//! metrics endpoints.
